/** Process figures the benchmarks read from /proc (Linux): CPU time of a pid, and the pids of a local ClickHouse server and Kafka mock. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
export function cpuSecondsOf(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/**
 * CPU seconds every thread of this process but the main one has used so far (V8's helper threads: parallel and
 * concurrent GC, concurrent compilation; libuv's pool), from /proc (Linux); NaN elsewhere.
 */
export function otherThreadsCpuSeconds(): number {
  try {
    let sum = 0;
    for (const tid of readdirSync('/proc/self/task')) if (Number(tid) !== process.pid) sum += statCpuSeconds(`/proc/self/task/${tid}/stat`) || 0;
    return sum;
  } catch {
    return NaN;
  }
}

/**
 * A full collection (with --expose-gc), then a wait until the other threads are idle again: the collection's
 * concurrent sweeping goes on on V8's helper threads after gc() returns (~130 ms of CPU within ~0.5 s for a ~630 MB
 * heap, more for a larger one), and process.cpuUsage() would bill it to whatever is timed next. Polls every 200 ms,
 * at most 10 s; without /proc, waits 1 s.
 */
export async function collectAndSettle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  let before = otherThreadsCpuSeconds();
  if (Number.isNaN(before)) return sleep(1000);
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    const now = otherThreadsCpuSeconds();
    if (now === before) return;
    before = now;
  }
}

/** utime + stime of a /proc stat file (a process's or a thread's), in seconds; NaN when unreadable. */
function statCpuSeconds(path: string): number {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
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

/**
 * The pid of the local Kafka mock (deploy/local's kafka-mock binary) listening on the first broker's port, or null (a
 * real or remote broker). Found by the listening socket's inode (/proc/net/tcp) among the kafka-mock processes' fds.
 */
export function kafkaMockPid(brokers: string): number | null {
  const port = Number(brokers.split(',')[0]?.split(':').pop());
  if (!port) return null;
  try {
    const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const inodes = new Set(
      ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((f) => {
        try {
          return readFileSync(f, 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/));
        } catch {
          return [];
        }
      }).filter((c) => c[1]?.endsWith(hexPort) && c[3] === '0A').map((c) => `socket:[${c[9]}]`),
    );
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/kafka-mock')) continue;
        for (const fd of readdirSync(`/proc/${pid}/fd`)) if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return Number(pid);
      } catch {
        // gone, or not ours to read
      }
    }
  } catch {
    // no /proc
  }
  return null;
}
