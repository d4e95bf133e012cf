import type { EntityType } from '@vigil/contracts';

/** Text helpers for anomaly explanations: a person reading one should know what happened and whom to call. */

export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function fmtPercent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** Tokens are identifiers, not secrets, but long ones are shortened: "tk_9f…". */
export function maskToken(token: string): string {
  return token.length > 8 ? `${token.slice(0, 5)}…` : token;
}

/** token_ip entities are "token|ip". */
export function tokenIpEntity(token: string, ip: string): string {
  return `${token}|${ip}`;
}

export function subject(type: EntityType, entity: string): string {
  switch (type) {
    case 'ip':
      return `IP ${entity}`;
    case 'token':
      return `token ${maskToken(entity)}`;
    case 'endpoint':
      return `endpoint ${entity}`;
    case 'token_ip': {
      const cut = entity.lastIndexOf('|');
      return `token ${maskToken(entity.slice(0, cut))} from IP ${entity.slice(cut + 1)}`;
    }
    case 'tenant':
      return `tenant ${entity}`;
  }
}
