import {createHash} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {create as createTar} from 'tar'

/** A real npm registry (verdaccio) on 127.0.0.1, with no uplink: only what the test publishes. */
export interface TestRegistry {
  url: string
  /** Publishes a package directory (its package.json decides name and version). */
  publish(dir: string): Promise<void>
  close(): Promise<void>
}

/** Starts verdaccio on a free loopback port with its storage in a temp dir. */
export async function startRegistry(): Promise<TestRegistry> {
  const home = mkdtempSync(join(tmpdir(), 'agentos-registry-'))
  writeFileSync(join(home, 'htpasswd'), '')
  const {runServer} = (await import('verdaccio')) as unknown as {
    runServer(config: unknown): Promise<{listen(port: number, host: string, cb: () => void): Server}>
  }
  const app = await runServer({
    self_path: home,
    storage: join(home, 'storage'),
    auth: {htpasswd: {file: join(home, 'htpasswd'), max_users: 100}},
    uplinks: {},
    packages: {
      '@*/*': {access: '$all', publish: '$authenticated'},
      '**': {access: '$all', publish: '$authenticated'},
    },
    logs: {type: 'stdout', format: 'pretty', level: 'fatal'},
    server: {keepAliveTimeout: 1},
    web: {enable: false},
  })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const {port} = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}/`
  const signup = await fetch(`${url}-/user/org.couchdb.user:tester`, {
    method: 'PUT',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({name: 'tester', password: 'tester-password', type: 'user', roles: []}),
  })
  const {token} = (await signup.json()) as {token: string}

  return {
    url,
    async publish(dir: string) {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      const {name, version} = manifest as {name: string; version: string}
      const file = join(home, `${name.replace('/', '-')}-${version}.tgz`)
      const members = listFiles(dir)
      await createTar({gzip: true, file, cwd: dir, prefix: 'package', portable: true}, members)
      const data = readFileSync(file)
      const tarballName = `${name.split('/').pop()}-${version}.tgz`
      const body = {
        _id: name,
        name,
        'dist-tags': {latest: version},
        versions: {
          [version]: {
            ...manifest,
            _id: `${name}@${version}`,
            dist: {
              shasum: createHash('sha1').update(data).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
              tarball: `${url}${name}/-/${tarballName}`,
            },
          },
        },
        _attachments: {
          [tarballName]: {
            content_type: 'application/octet-stream',
            data: data.toString('base64'),
            length: data.length,
          },
        },
      }
      const response = await fetch(`${url}${name.replace('/', '%2f')}`, {
        method: 'PUT',
        headers: {'content-type': 'application/json', authorization: `Bearer ${token}`},
        body: JSON.stringify(body),
      })
      if (!response.ok)
        throw new Error(`publish ${name}@${version}: ${response.status} ${await response.text()}`)
    },
    async close() {
      server.closeAllConnections?.()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      rmSync(home, {recursive: true, force: true})
    },
  }
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name
    if (statSync(join(dir, rel)).isDirectory()) out.push(...listFiles(dir, rel))
    else out.push(rel)
  }
  return out
}
