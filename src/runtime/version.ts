/**
 * The agentOS runtime `run --engine agentos` is built and tested against, and the default of
 * `runtime install`. The one place the pin lives: change it here and nowhere else.
 */
export const PINNED_RUNTIME_VERSION = '0.2.21'

/** The npm package that is the runtime (the VM, its sidecar and the session API). */
export const RUNTIME_PACKAGE = '@rivet-dev/agentos-core'

/** The umbrella package an app depends on; it carries {@link RUNTIME_PACKAGE} as a dependency. */
export const RUNTIME_UMBRELLA_PACKAGE = '@rivet-dev/agentos'
