/** The benchmark's progress: a bar redrawn in place on a terminal, plain lines elsewhere. */
import { describe, expect, it } from 'vitest';
import { meter } from '../../bench/common.js';

function stream(isTTY: boolean) {
  const out: string[] = [];
  return { out, s: { isTTY, write: (t: string) => out.push(t) > 0 } as unknown as NodeJS.WriteStream };
}

describe('bench meter', () => {
  it('redraws one bar with the name, done/total and an ETA on a terminal', () => {
    const { out, s } = stream(true);
    const show = meter('B1ack', 50, s);
    show(0);
    show(25);
    show(50);
    expect(out).toHaveLength(3);
    for (const line of out) expect(line.startsWith('\r[bench] B1ack ')).toBe(true);
    expect(out[0]).toContain('0/50');
    expect(out[0]).not.toContain('ETA');
    expect(out[1]).toMatch(/#{12}\.{12} 25\/50 \d+ s ETA \d+ s/);
    expect(out[2]).toContain('#'.repeat(24));
    expect(out[2]).not.toContain('ETA');
  });

  it('writes plain lines, not every update, when not on a terminal', () => {
    const { out, s } = stream(false);
    const show = meter('B1', 500, s);
    for (let i = 0; i <= 500; i += 50) show(i);
    // the first update, then nothing within 5 s, and the last one always
    expect(out).toEqual([expect.stringMatching(/^\[bench\] B1: 0\/500 after \d+\.\d s\n$/), expect.stringMatching(/^\[bench\] B1: 500\/500 after/)]);
    expect(out.join('')).not.toContain('\r');
  });
});
