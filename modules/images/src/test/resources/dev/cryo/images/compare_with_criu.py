"""Compare cryo's .proto descriptors with the ones CRIU's crit ships.

Usage: compare_with_criu.py DESCRIPTOR_SET
DESCRIPTOR_SET is a serialized FileDescriptorSet of cryo's image messages.
Every message and enum cryo declares must match CRIU's of the same name
(cryo spells message names in CamelCase, as CRIU's C code does: core_entry
is CoreEntry): field numbers, names, types, labels, referenced types,
defaults, and enum values.
Prints one line per difference and exits 1 if there is any.
"""
import glob
import importlib
import os
import sys

IMAGES = '/usr/lib/python3/dist-packages/pycriu/images'
sys.path.insert(0, IMAGES)
from google.protobuf import descriptor_pb2  # noqa: E402

# CRIU fields that cryo leaves out on purpose (other architectures' registers).
OMITTED = {('CoreEntry', n) for n in (6, 8, 9, 10, 11)}
# Fields of CRIU releases newer than the crit installed here (CRIU 4.2's memfd mode, 3.17's crit lacks it),
# with their facts as CRIU 4.2's .proto has them: (name, number, label, type, type name, default).
NEWER = {('MemfdInodeEntry', 9): ('mode', 9, 1, 13, '', None)}


def camel(name):
    return '.'.join(''.join(p[:1].upper() + p[1:] for p in part.split('_')) for part in name.split('.'))


def short(type_name):
    """A referenced type's name without package, CamelCase: '.core_entry.march' -> 'CoreEntry.March'."""
    if not type_name:
        return ''
    return camel(type_name.lstrip('.').replace('cryo.images.', ''))


def collect(files):
    messages, enums = {}, {}

    def walk(prefix, d):
        messages[camel(prefix + d.name)] = d
        for e in d.enum_type:
            enums[camel(prefix + d.name + '.' + e.name)] = e
        for n in d.nested_type:
            walk(prefix + d.name + '.', n)

    for f in files:
        for d in f.message_type:
            walk('', d)
        for e in f.enum_type:
            enums[camel(e.name)] = e
    return messages, enums


def criu_files():
    files = []
    for path in sorted(glob.glob(os.path.join(IMAGES, '*_pb2.py'))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        fd = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(fd)
        files.append(fd)
    return files


def field_facts(f):
    return (f.name, f.number, f.label, f.type, short(f.type_name),
            f.default_value if f.HasField('default_value') else None)


def main():
    ours = descriptor_pb2.FileDescriptorSet()
    with open(sys.argv[1], 'rb') as fh:
        ours.ParseFromString(fh.read())
    our_msgs, our_enums = collect(ours.file)
    criu_msgs, criu_enums = collect(criu_files())
    problems = []
    for name, d in sorted(our_msgs.items()):
        theirs = criu_msgs.get(name)
        if theirs is None:
            problems.append('message %s: not in CRIU' % name)
            continue
        mine = {f.number: field_facts(f) for f in d.field}
        for f in theirs.field:
            if (name, f.number) in OMITTED:
                continue
            got = mine.pop(f.number, None)
            if got != field_facts(f):
                problems.append('%s field %d: cryo %s, CRIU %s' % (name, f.number, got, field_facts(f)))
        for number, facts in mine.items():
            if NEWER.get((name, number)) == facts:
                continue
            problems.append('%s field %d: cryo %s, not in CRIU' % (name, number, facts))
    for name, e in sorted(our_enums.items()):
        theirs = criu_enums.get(name)
        mine = [(v.name, v.number) for v in e.value]
        if theirs is None or mine != [(v.name, v.number) for v in theirs.value]:
            problems.append('enum %s: cryo %s, CRIU %s' % (name, mine, theirs and [(v.name, v.number) for v in theirs.value]))
    for p in problems:
        print(p)
    print('compared %d messages and %d enums, %d differences' % (len(our_msgs), len(our_enums), len(problems)))
    sys.exit(1 if problems else 0)


main()
