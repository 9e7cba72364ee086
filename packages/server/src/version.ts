declare const __RESKPOINTS_VERSION__: string | undefined;

/** Replaced at build time from packages/server/package.json. */
export const VERSION: string = typeof __RESKPOINTS_VERSION__ === 'string' ? __RESKPOINTS_VERSION__ : '0.0.0-dev';
