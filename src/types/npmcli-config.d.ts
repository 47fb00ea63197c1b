// Minimal typings for the parts of @npmcli/config this project uses (the package ships none).
declare module '@npmcli/config' {
  interface ConfigOptions {
    npmPath: string
    definitions: Record<string, unknown>
    shorthands: Record<string, unknown>
    flatten: unknown
    argv?: string[]
    env?: NodeJS.ProcessEnv
    cwd?: string
  }
  export default class Config {
    constructor(options: ConfigOptions)
    load(): Promise<void>
    get flat(): Record<string, unknown>
  }
}

declare module '@npmcli/config/lib/definitions/index.js' {
  const definitions: {
    definitions: Record<string, unknown>
    flatten: unknown
    shorthands: Record<string, unknown>
  }
  export default definitions
}
