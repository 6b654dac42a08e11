"""Checks cryo's rpc.proto against the descriptor of pycriu's rpc_pb2 (Debian's criu package).

Usage: compare_rpc_with_pycriu.py DESCRIPTOR_SET
DESCRIPTOR_SET: a serialized FileDescriptorSet holding cryo's rpc.proto.
cryo names its types in CamelCase (criu_req is CriuReq); everything that is on
the wire must be pycriu's: each field's number, name, label, type, the type it
refers to, its default, and each enum's values. Fields and enum values newer
than the Debian package (CRIU 4.2 has them) are listed in NEWER_* and must be
absent there. One line per difference; exit status 1 if there is any.
"""
import sys

sys.path.insert(0, '/usr/lib/python3/dist-packages')
from google.protobuf import descriptor_pb2  # noqa: E402
from pycriu import rpc_pb2  # noqa: E402

NEWER_FIELDS = {('CriuOpts', n) for n in (66, 67, 68, 69, 70, 71)}
NEWER_VALUES = {('CriuNetworkLockMethod', 'SKIP')}
# Defaults CRIU gave later (not on the wire): images_dir_fd -1 came with images_dir (field 68).
NEWER_DEFAULTS = {('CriuOpts', 1): '-1'}


def camel(name):
    return ''.join(p[:1].upper() + p[1:] for p in name.split('_'))


def ref(type_name):
    return camel(type_name.lstrip('.').split('.')[-1]) if type_name else ''


def facts(f):
    return (f.name, f.number, f.label, f.type, ref(f.type_name),
            f.default_value if f.HasField('default_value') else None)


def main():
    ours = descriptor_pb2.FileDescriptorSet()
    with open(sys.argv[1], 'rb') as fh:
        ours.ParseFromString(fh.read())
    mine = [f for f in ours.file if f.name.endswith('rpc.proto')][0]
    theirs = descriptor_pb2.FileDescriptorProto()
    rpc_pb2.DESCRIPTOR.CopyToProto(theirs)
    their_msgs = {camel(m.name): m for m in theirs.message_type}
    their_enums = {camel(e.name): e for e in theirs.enum_type}
    problems = []
    for m in mine.message_type:
        t = their_msgs.pop(m.name, None)
        if t is None:
            problems.append('message %s: not in pycriu' % m.name)
            continue
        want = {f.number: facts(f) for f in t.field}
        for f in m.field:
            got = facts(f)
            expected = want.pop(f.number, None)
            if expected is None and (m.name, f.number) in NEWER_FIELDS:
                continue
            newer = NEWER_DEFAULTS.get((m.name, f.number))
            if expected is not None and newer is not None and expected[5] is None and got[5] == newer:
                expected = expected[:5] + (newer,)
            if got != expected:
                problems.append('%s field %d: cryo %s, pycriu %s' % (m.name, f.number, got, expected))
        for number, f in want.items():
            problems.append('%s field %d: missing in cryo (pycriu %s)' % (m.name, number, f))
    for name in their_msgs:
        problems.append('message %s: missing in cryo' % name)
    for e in mine.enum_type:
        t = their_enums.pop(e.name, None)
        got = [(v.name, v.number) for v in e.value if (e.name, v.name) not in NEWER_VALUES]
        expected = t and [(v.name, v.number) for v in t.value]
        if got != expected:
            problems.append('enum %s: cryo %s, pycriu %s' % (e.name, got, expected))
    for name in their_enums:
        problems.append('enum %s: missing in cryo' % name)
    for p in problems:
        print(p)
    print('compared %d messages and %d enums, %d differences' % (len(mine.message_type), len(mine.enum_type), len(problems)))
    sys.exit(1 if problems else 0)


main()
