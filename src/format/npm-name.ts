// npm's package-name rules, as far as this tool checks them, in one place for every reader of a
// name: package.json's (validate, pack), --name of assemble-wasm, and the manifest's.

/** npm's limit on the length of a package name. */
export const NPM_NAME_MAX = 214

const NPM_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/i

const PLAIN_NAME = /^[a-z0-9][a-z0-9._-]*$/

/** A valid npm package name: `my-tool` or `@scope/my-tool`, at most {@link NPM_NAME_MAX} characters. */
export function isNpmPackageName(name: string): boolean {
  return NPM_NAME.test(name) && name.length <= NPM_NAME_MAX
}

/**
 * A plain npm-style name: unscoped, lowercase letters, digits, `-`, `_` and `.`, at most
 * {@link NPM_NAME_MAX} characters. What a manifest's `name` should be, as it is also the agent id.
 */
export function isPlainNpmName(name: string): boolean {
  return PLAIN_NAME.test(name) && name.length <= NPM_NAME_MAX
}
