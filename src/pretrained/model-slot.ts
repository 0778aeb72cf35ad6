/**
 * One pretrained model kept per key (a model id, a spec), for the workers
 * that hold models between calls. Free of transformers.js, so a worker can
 * hold a slot without loading the library until a model is asked for.
 */
export class ModelSlot<M extends { dispose(): Promise<void> }> {
  #held: { key: string; model: Promise<M> } | null = null;

  /**
   * The model for `key`: loaded by `load` on first use, or when the key
   * changes (the model before is disposed). A load that fails is forgotten,
   * so the next call tries again.
   */
  get(key: string, load: () => Promise<M>): Promise<M> {
    if (this.#held?.key !== key) {
      const previous = this.#held;
      const held = { key, model: load() };
      this.#held = held;
      held.model.catch(() => {
        if (this.#held === held) this.#held = null;
      });
      void previous?.model.then((m) => m.dispose(), () => undefined);
    }
    return this.#held!.model;
  }
}
