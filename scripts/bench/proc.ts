/** Process figures the benchmarks read from /proc (Linux): CPU time of a pid, and a local ClickHouse server's pid. */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** The pid of the clickhouse-server whose command line names this URL's HTTP port (a local server), or null. */
export function clickhousePid(url: string): number | null {
  const port = new URL(url).port;
  if (!port) return null;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.includes('clickhouse') && cmd.some((a) => a === `--http_port=${port}`)) return Number(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return null;
}
