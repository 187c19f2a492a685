#!/usr/bin/env python3
"""Resident memory (Rss, MiB) of a /proc/PID/smaps copy by kind of mapping: the runtime's double-mapped code and type
data (doublemapper), glibc's main heap ([heap]), other anonymous memory (the GC heap, loader heaps, stacks, other
malloc arenas), and each mapped file (assemblies, native libraries). Used with the --memory
bench's --smaps DIR:  python3 bench/smaps-summary.py DIR/server-1-peak.txt [more files...]"""
import re, sys, collections, signal

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head

def summarize(path):
    groups = collections.Counter()
    files = collections.Counter()
    name = None
    for line in open(path):
        m = re.match(r'^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$', line)
        if m:
            name = m.group(3).strip()
            continue
        if line.startswith('Rss:'):
            kb = int(line.split()[1]) / 1024
            if not name:
                key = 'anon: other (GC heap, loader heaps, stacks, malloc arenas)'
            elif 'doublemapper' in name:
                key = 'runtime double-mapped code/type data'
            elif name.startswith('['):
                key = 'anon: ' + name
            elif name.startswith('/memfd') or '(deleted)' in name:
                key = 'shared: ' + name
            else:
                key = 'files'
                files[name] += kb
            groups[key] += kb
    return groups, files

for path in sys.argv[1:]:
    groups, files = summarize(path)
    print(f'== {path}: total {sum(groups.values()):.1f} MiB')
    for k, v in groups.most_common():
        print(f'  {v:7.1f}  {k}')
    print('  largest files:')
    for k, v in files.most_common(25):
        print(f'    {v:6.1f}  {k}')
