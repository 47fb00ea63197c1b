// Caps that several readers must agree on: what one reader keeps, the checks must expect.

/**
 * The largest descriptor (`package.json`, `agentos-package.json`) whose text a reader keeps: 4 MiB,
 * far above any real one, so a hostile package cannot make a reader hold its files in memory. The
 * directory, tarball and `.aospkg` readers keep texts up to it; package/rules/descriptors.ts reports larger ones.
 */
export const DESCRIPTOR_TEXT_LIMIT = 4 * 1024 * 1024

/**
 * The most entries a package may have: the runtime refuses to mount an `.aospkg` index with more,
 * and the tarball reader stops there (a crafted `.tgz` lists millions of members in a megabyte).
 */
export const AOSPKG_MAX_ENTRIES = 200_000
