export * from './types';
export * from './families';
export * from './verify';
export * from './splits';
export * from './targets';
export * from './programs';
