/** Process figures the benchmarks read from /proc (Linux): CPU time of a pid, and the pids of a local ClickHouse server and Kafka mock. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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
