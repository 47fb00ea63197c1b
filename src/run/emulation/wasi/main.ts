/**
 * Entry point of the WASI runner in the npm package: runs one WASI command in this (child) Node.js
 * process, for guests that spawn processes. The single binary runs the same main when started with
 * its runner argument (see runner.ts).
 *
 *   node main.js [--preopen GUEST=HOST]… [--ro-preopen GUEST=HOST]… -- MODULE ARGV0 [ARG]…
 */
import {wasiRunnerMain} from './runner.js'

process.exitCode = await wasiRunnerMain(process.argv.slice(2))
