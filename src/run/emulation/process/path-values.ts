/**
 * Applies `mapPath` to the absolute paths inside an argv or env value, as path-mapped mode sees
 * them: the whole value, each `:`-separated element of a PATH-like list, or what follows `=`
 * (`--config=/etc/x.conf`). The same walk rewrites VM paths to the assembled root (sandbox.ts)
 * and turns them back for a WASI guest, which sees the VM itself (wasi/runner.ts).
 */
export function mapPathsInValue(value: string, mapPath: (path: string) => string): string {
  const one = (part: string) => (part.startsWith('/') ? mapPath(part) : part)
  if (value.includes(':') && value.split(':').every((part) => part === '' || part.startsWith('/'))) {
    return value.split(':').map(one).join(':')
  }
  const eq = value.indexOf('=')
  if (!value.startsWith('/') && eq > 0 && value.slice(eq + 1).startsWith('/')) {
    return value.slice(0, eq + 1) + one(value.slice(eq + 1))
  }
  return one(value)
}
