#!/run/vm/busybox sh
# Second stage of scripts/kernel-vm's guest: PID 1 after switch_root, in the host's filesystem. Runs the
# command of /run/vmctl/cmd.sh with bash as root, in the directory named by /run/vmctl/cwd, its output going
# to /run/vmctl/stdout and /run/vmctl/stderr (the host streams them), writes its exit code to /run/vmctl/rc
# and powers off.
bb=/run/vm/busybox
c=/run/vmctl
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 TERM=dumb

$bb hostname "$($bb cat $c/hostname 2>/dev/null || echo kernel-vm)"
$bb ip link set lo up 2>/dev/null

cwd=$($bb cat $c/cwd 2>/dev/null)
if ! cd "$cwd" 2>/dev/null; then
    echo "kernel-vm: $cwd does not exist in the guest, the command starts in /" >> $c/stderr
    cd /
fi

echo "kernel-vm stage2: kernel $($bb uname -r), / $($bb cat /run/vm/root), running the command" > /dev/console
/bin/bash $c/cmd.sh < /dev/null >> $c/stdout 2>> $c/stderr
rc=$?
echo "$rc" > $c/rc.tmp && $bb mv $c/rc.tmp $c/rc
echo "kernel-vm stage2: the command exited with $rc" > /dev/console
$bb sync
$bb poweroff -f
echo o > /proc/sysrq-trigger
$bb sleep 10
