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
