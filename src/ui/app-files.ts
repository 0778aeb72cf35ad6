/**
 * Files the app ships in `public/` (the precomputed runs, the ready
 * Generator), fetched relative to the page's index.html, so a build hosted
 * under any path finds them, with errors that name the file.
 */

/** `<path>` beside the app's index.html, wherever the app is hosted (path relative to public/, e.g. `runs/index.json`). */
export function appFileUrl(path: string): string {
  return new URL(`${import.meta.env.BASE_URL}${path}`, document.baseURI).href;
}

/** The app's file at `path`; rejects naming it when the fetch fails or the server answers an error. */
export async function fetchAppFile(path: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(appFileUrl(path));
  } catch (e) {
    throw new Error(`${path} could not be fetched (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (!response.ok) throw new Error(`${path}: the server answered ${response.status} ${response.statusText}`.trim());
  return response;
}
