package procfs

import "syscall"

// sysFstatat is fstatat(2)'s number, which Go spells per architecture.
const sysFstatat = syscall.SYS_FSTATAT
