/**
 * The commands of the runtime's default software (`@agentos-software/common`: coreutils,
 * diffutils, findutils, gawk, grep, gzip, sed, tar), as runtime 0.2.21 links them in
 * /opt/agentos/bin of a VM made without packages. A package command with one of these names is
 * refused by that runtime; the emulation, whose system commands are the host's, only warns.
 */
export const DEFAULT_SOFTWARE_COMMANDS: ReadonlySet<string> = new Set(
  (
    '[ arch awk b2sum base32 base64 basename basenc bash bc cat chcon chgrp chmod chown chroot cksum cmp ' +
    'column comm cp cut date dd df diff dir dircolors dirname du echo egrep env expand expr factor false ' +
    'fgrep find findmnt fmt fold getent groups gunzip gzip head hostid hostname id install join kill link ' +
    'ln logname ls md5sum mkdir mktemp more mount mv nice nl nohup nproc numfmt od paste pathchk pinky ' +
    'printenv printf ptx pwd readlink realpath rev rm rmdir runas runcon sed seq sh sha1sum sha224sum ' +
    'sha256sum sha384sum sha512sum shred shuf sleep sort split stat stdbuf strings stty su sum sync tac ' +
    'tail tar tee test timeout touch tr true truncate tsort tty uname unexpand uniq unlink uptime users ' +
    'vdir wc which who whoami xargs yes zcat'
  ).split(' '),
)

/**
 * The builtins of the VM's shell that are no default-software command, as runtime 0.2.21's `sh`
 * answers `command -v <name>` with the bare name even when a package links `/opt/agentos/bin/<name>`.
 * A package command with one of these names is linked, and runs when spawned by name, but `<name>`
 * in a shell (an agent's terminal, a script) runs the builtin.
 */
export const VM_SHELL_BUILTINS: ReadonlySet<string> = new Set(
  (
    ': alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs ' +
    'disown enable eval exec exit export fc fg getopts hash help history jobs let local logout mapfile ' +
    'popd pushd read readarray readonly return set shift shopt source times trap type typeset umask ' +
    'unalias unset wait'
  ).split(' '),
)
