#!/usr/bin/env python3
"""The analysis half of bench/arm/mca_report.sh (which compiles the kernels and passes the tables).

For every kernel of the kernel table: the llvm-mca region of that name in the marked assembly
(kernels/mca_region.hpp), the innermost loop inside it (a label and the last branch back to it), a check
that the unmarked build has the same loop instruction for instruction (registers renamed consistently),
then llvm-mca on that loop for every CPU of the CPU table. Peaks come from the same model: llvm-mca on 24
independent instances of the kernel's counted instruction form.
"""
import argparse
import csv
import re
import subprocess
import sys
from pathlib import Path

LABEL = re.compile(r'^\s*([.\w$]+):')
REGISTER = re.compile(r'\b([xwvqdshb])(\d+)\b')
BRANCH = re.compile(r'^(b|b\.?(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le)|cbn?z|tbn?z)$')


def instruction(line):
    """The instruction of an assembly line, whitespace-normalised; '' for comments, directives, labels."""
    text = line.split('//')[0].strip()
    if not text or text.startswith(('.', '#')) or LABEL.match(text):
        return ''
    return re.sub(r'\s+', ' ', text)


def branch_target(text):
    parts = text.split(' ', 1)
    if len(parts) < 2 or not BRANCH.match(parts[0]):
        return None
    target = parts[1].split(',')[-1].strip()
    return target[:-1] if re.fullmatch(r'\d+b', target) else target  # "1b": the local label 1 before


def loops(lines):
    """(first, last) line indices of every label ... backward branch to it, innermost first."""
    found, labels = [], {}
    for i, line in enumerate(lines):
        label = LABEL.match(line.split('//')[0])
        if label:
            labels[label.group(1)] = i
            continue
        target = branch_target(instruction(line))
        if target in labels:
            found.append((labels[target], i))
    return sorted(found, key=lambda span: span[1] - span[0])


def body(lines, span):
    return [t for t in (instruction(line) for line in lines[span[0]:span[1] + 1]) if t]


def renamed(instructions):
    """Registers renumbered in order of first use (general and vector files apart), labels dropped."""
    maps = {'x': {}, 'v': {}}
    def rename(m):
        names = maps['x' if m.group(1) in 'xw' else 'v']
        return m.group(1) + str(names.setdefault(m.group(2), len(names)))
    out = []
    for text in instructions:
        text = re.sub(r'\.L\w+', 'L', text)
        target = branch_target(text)
        if target is not None:
            text = text[: text.rfind(target)] + 'L'
        out.append(REGISTER.sub(rename, text))
    return out


def region(lines, name):
    begin = [i for i, line in enumerate(lines) if line.strip() == '// LLVM-MCA-BEGIN ' + name]
    if not begin:
        sys.exit(f'mca_report: no llvm-mca region "{name}" in the marked build (kernels/mca_region.hpp markers)')
    end = next((i for i in range(begin[0], len(lines)) if lines[i].strip() == '// LLVM-MCA-END ' + name), None)
    if end is None:
        sys.exit(f'mca_report: region "{name}" has no LLVM-MCA-END')
    return lines[begin[0] + 1:end]


def loop_source(lines, span):
    """The loop as llvm-mca input: its instructions, the backward branch aimed at a label of its own."""
    text = body(lines, span)
    target = branch_target(text[-1])
    text[-1] = text[-1][: text[-1].rfind(target)] + '.Lmca_loop'
    return '.Lmca_loop:\n' + '\n'.join(text) + '\n'


def mca(source_file, cpu, iterations, mattr):
    """llvm-mca-19's total cycles for `iterations` iterations and the block's reciprocal throughput."""
    out = subprocess.run(['llvm-mca-19', '-mtriple=aarch64-linux-gnu', f'-mcpu={cpu}', f'-mattr={mattr}',
                          f'-iterations={iterations}', '-resource-pressure=0', '-instruction-info=0', str(source_file)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f'mca_report: llvm-mca-19 -mcpu={cpu} {source_file} failed:\n{out.stderr}')
    cycles = re.search(r'^Total Cycles:\s+(\d+)', out.stdout, re.M)
    throughput = re.search(r'^Block RThroughput:\s+([\d.]+)', out.stdout, re.M)
    return int(cycles.group(1)), float(throughput.group(1))


def cycles_per_iteration(source_file, cpu, iterations, mattr):
    """Steady state: the cycles the second `iterations` iterations add (no pipeline fill or drain)."""
    once, _ = mca(source_file, cpu, iterations, mattr)
    twice, _ = mca(source_file, cpu, 2 * iterations, mattr)
    return (twice - once) / iterations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--marked', required=True)
    parser.add_argument('--plain', required=True)
    parser.add_argument('--kernels', required=True, help='table: name counted-mnemonic probe-instruction [needs]')
    parser.add_argument('--cpus', required=True, help='table: cpu extensions stands-for')
    parser.add_argument('--only-cpus', default='')
    parser.add_argument('--work', required=True)
    parser.add_argument('--csv')
    parser.add_argument('--iterations', type=int, default=500)
    parser.add_argument('--mattr', default='+dotprod,+i8mm,+fullfp16,+bf16')
    args = parser.parse_args()

    marked = Path(args.marked).read_text().split('\n')
    plain = Path(args.plain).read_text().split('\n')
    plain_loops = {tuple(renamed(body(plain, span))) for span in loops(plain)}
    work = Path(args.work)

    kernels = []
    for line in Path(args.kernels).read_text().split('\n'):
        fields = line.split('|')
        if len(fields) < 3 or line.lstrip().startswith('#'):
            continue
        name, counted, probe = (f.strip() for f in fields[:3])
        needs = fields[3].strip() if len(fields) > 3 else ''
        kernels.append((name, counted, probe, needs))
    cpus = []
    only = set(filter(None, args.only_cpus.split(',')))
    for line in Path(args.cpus).read_text().split('\n'):
        fields = [f.strip() for f in line.split('|')]
        if len(fields) < 3 or line.lstrip().startswith('#') or (only and fields[0] not in only):
            continue
        cpus.append((fields[0], set(fields[1].split(',')) - {''}, fields[2]))

    unknown = only - {c[0] for c in cpus}
    if unknown:
        sys.exit(f'mca_report: --cpus {",".join(sorted(unknown))}: not in the CPU table of mca_report.sh')
    rows, notes, peaks = [], [], {}
    for name, counted, probe, needs in kernels:
        lines = region(marked, name)
        spans = loops(lines)
        if not spans:
            sys.exit(f'mca_report: region "{name}" holds no loop')
        span = spans[0]
        if tuple(renamed(body(lines, span))) not in plain_loops:
            sys.exit(f'mca_report: the loop of region "{name}" is not in the unmarked build: the markers changed '
                     'its code (move them out of the loop)')
        source = work / f'{name}.s'
        source.write_text(loop_source(lines, span))
        fmas = sum(1 for t in body(lines, span) if t.split(' ', 1)[0] == counted)
        probe_file = work / ('peak_' + re.sub(r'\W+', '_', probe).strip('_') + '.s')
        probe_file.write_text(''.join(probe.format(n=n) + '\n' for n in range(8, 32)))
        for cpu, extensions, _ in cpus:
            if (cpu, probe) not in peaks:  # 24 independent instructions: the resource bound is the rate
                peaks[cpu, probe] = 24 / mca(probe_file, cpu, args.iterations, args.mattr)[1]
            peak = peaks[cpu, probe]
            cycles = cycles_per_iteration(source, cpu, args.iterations, args.mattr)
            rows.append((name, cpu, cycles, fmas, fmas / cycles, peak, fmas / cycles / peak))
            if needs and needs not in extensions:
                notes.append(f'{name} on {cpu}: that core has no {needs}; the model only')

    header = ['kernel', 'cpu', 'cycles_per_iteration', 'fma_per_iteration', 'fma_per_cycle', 'peak_fma_per_cycle',
              'utilization']
    formatted = [[n, c, f'{cy:.2f}', str(f), f'{fc:.3f}', f'{p:.2f}', f'{u:.3f}'] for n, c, cy, f, fc, p, u in rows]
    if args.csv:
        with open(args.csv, 'w', newline='') as out:
            writer = csv.writer(out, lineterminator='\n')
            writer.writerow(header)
            writer.writerows(formatted)
    # The Markdown table of bench/README.md: utilization (cycles per iteration) per kernel and CPU model.
    names = list(dict.fromkeys(r[0] for r in rows))
    print('| kernel | FMA / iteration | ' + ' | '.join(f'{c} ({s})' for c, _, s in cpus) + ' |')
    print('|---|---:|' + '---:|' * len(cpus))
    for name in names:
        cells = {r[1]: r for r in rows if r[0] == name}
        fmas = cells[cpus[0][0]][3]
        print(f'| {name} | {fmas} | ' + ' | '.join(
            f'{cells[c][6]:.2f} ({cells[c][2]:.1f} cyc)' for c, _, _ in cpus) + ' |')
    print('\nPeaks (FMA-class instructions per cycle, same models): ' + '; '.join(
        f'{cpu} {"/".join(sorted({f"{peaks[cpu, k[2]]:g}" for k in kernels}))}' for cpu, _, _ in cpus))
    for note in notes:
        print('note: ' + note)


if __name__ == '__main__':
    main()
