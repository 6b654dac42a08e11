"""pycriu from Debian's criu package, driving cryo as it drives CRIU: check, a refused option, two pre-dumps
(splice, then read mode on top), a dump on top of them, then a restore once the dumped tree is gone.

Usage: pycriu_client.py sk SOCKET PID WORKDIR    (criu.use_sk: a running service)
       pycriu_client.py binary PATH PID WORKDIR  (criu.use_binary: PATH swrk FD for each request)
Prints one 'name=value' line per step; a failure ends it with 'failed=STEP: error'.
"""
import os
import sys
import time

sys.path.insert(0, '/usr/lib/python3/dist-packages')
import pycriu  # noqa: E402

mode, where, pid, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def criu():
    c = pycriu.criu()
    if mode == 'sk':
        c.use_sk(where)
    else:
        c.use_binary(where)
    return c


def of_pid(images_dir, parent=None):
    """A client for a request about the target, its images in images_dir (below work), on top of parent if given."""
    c = criu()
    c.opts.pid = pid
    c.opts.images_dir_fd = images(images_dir)
    if parent:
        c.opts.parent_img = parent
    return c


def images(name):
    path = os.path.join(work, name)
    os.makedirs(path, exist_ok=True)
    return os.open(path, os.O_DIRECTORY)


def tree(root):
    """The pids of root's tree: root and its descendants, as /proc shows their children."""
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir('/proc/%d/task' % p):
                with open('/proc/%d/task/%s/children' % (p, t)) as f:
                    todo.extend(int(k) for k in f.read().split())
        except OSError:
            pass  # gone while looked at
    return out


def say(name, value):
    print('%s=%s' % (name, value), flush=True)


step = 'check'
try:
    criu().check()
    say('check', 'ok')

    step = 'refused'
    c = of_pid('refused')
    c.opts.root = '/'  # cryo restores no root of its own: refused by name
    try:
        c.dump()
        say('refused', 'no')
    except pycriu.CRIUExceptionExternal as e:
        say('refused', e.errno)

    step = 'pre-dump 1'
    of_pid('pre1').pre_dump()
    say('pre1', 'ok')

    step = 'pre-dump 2'
    c = of_pid('pre2', '../pre1')
    c.opts.pre_dump_mode = pycriu.rpc.VM_READ
    c.pre_dump()
    say('pre2', 'ok')

    step = 'dump'
    dumped = tree(pid)
    c = of_pid('dump', '../pre2')
    c.opts.track_mem = True
    c.opts.log_file = 'dump.log'
    c.opts.log_level = 4
    say('restored', c.dump().restored)

    step = 'waiting for the dumped tree to go'
    # every process of it reaped (a zombie still holds its pid, which the restore needs)
    deadline = time.time() + 30
    while any(os.path.exists('/proc/%d' % p) for p in dumped) and time.time() < deadline:
        time.sleep(0.01)

    step = 'restore'
    c = criu()
    c.opts.images_dir_fd = images('dump')
    c.opts.log_file = 'restore.log'
    c.opts.log_level = 4
    say('pid', c.restore().pid)
except Exception as e:  # noqa: BLE001 - the test prints what failed
    say('failed', '%s: %s' % (step, e))
