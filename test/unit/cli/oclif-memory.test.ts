// The single binary hands oclif its commands from memory by writing a private field of
// @oclif/core's Plugin (src/cli/oclif-memory.ts). This pins what that relies on, so an oclif
// upgrade that changes it fails here, not only in the binary's end-to-end suite.
import {Command, Plugin} from '@oclif/core'
import {describe, expect, it} from 'vitest'
import {memoryPlugin} from '../../../src/cli/oclif-memory.js'

class Hello extends Command {
  static override summary = 'says hello'
  async run(): Promise<void> {
    this.log('hello')
  }
}

describe('oclif plugins from memory', () => {
  it('lists and loads the commands of an in-memory map, without reading a target file', async () => {
    const pjson = {
      name: 'memory-cli',
      version: '1.0.0',
      // A target that does not exist: were it read, loading would fail.
      oclif: {commands: {strategy: 'explicit', target: './no/such/file.js', identifier: 'COMMANDS'}},
    }
    const plugin = await memoryPlugin(Plugin, '/nonexistent-root', pjson as never, {hello: Hello})
    expect(plugin.commandIDs).toEqual(['hello'])
    expect(await plugin.findCommand('hello', {must: true})).toBe(Hello)
    expect(plugin.commands.map((c) => [c.id, c.summary])).toEqual([['hello', 'says hello']])
  })
})
