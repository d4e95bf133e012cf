import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Type } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { ConfigError, type VigilConfig } from '../config/config.js';
import { createHttpLogger } from '../logging/http-logger.js';
import { createLogger, LOGGER } from '../logging/logger.js';
import { PinoNestLogger } from '../logging/nest-logger.js';
import { processConfig } from '../runtime/process-config.js';
import { installBodyParsers } from './body-parsers.js';
import { PLATFORM_OPTIONS, type PlatformOptions, type ServiceName } from './platform.module.js';

export interface RunningService {
  app: NestExpressApplication;
  config: VigilConfig;
  logger: Logger;
  /** Where the HTTP server answers, e.g. http://localhost:8080 (the real port when PORT=0). */
  url: string;
}

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * A domain module may provide one function under this token to add to the HTTP app before it listens (the alert
 * module serves its OpenAPI document at /docs this way). runService calls it after the body parsers are installed.
 */
export const HTTP_APP_SETUP = Symbol('HTTP_APP_SETUP');
export type HttpAppSetup = (app: NestExpressApplication) => void | Promise<void>;

/** The setup function some module provides under HTTP_APP_SETUP, or null (looked up without app.get, which logs a miss as an error). */
function httpAppSetup(app: NestExpressApplication): HttpAppSetup | null {
  for (const module of app.get(ModulesContainer).values()) {
    const instance: unknown = module.providers.get(HTTP_APP_SETUP)?.instance;
    if (typeof instance === 'function') return instance as HttpAppSetup;
  }
  return null;
}

/**
 * Boots one service process: validates the configuration first (an invalid one prints the ConfigError, naming the
 * variable, to stderr and exits 1 before anything is opened), builds the Nest app around `rootModule` (which
 * imports `PlatformModule.forRoot`), logs requests, installs the shutdown hooks with their deadline, and listens.
 */
export async function runService(service: ServiceName, rootModule: Type<unknown>): Promise<RunningService> {
  let config: VigilConfig;
  try {
    config = processConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`vigil ${service}: ${e.message}\n`);
    process.exit(1);
  }
  const bootLog = createLogger({ service, level: config.log.level }).child({ component: 'boot' });
  bootLog.info({ mode: config.mode, bus: config.bus.kind, store: config.store.kind, queue: config.queue.kind }, `starting ${service}`);

  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(rootModule, {
      bufferLogs: true,
      abortOnError: false,
      return503OnClosing: true,
      bodyParser: false,
      // VIGIL_TLS_CERT / VIGIL_TLS_KEY: HTTPS, and so WSS for socket.io, which shares the HTTP server.
      ...(config.tls ? { httpsOptions: { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) } } : {}),
    });
  } catch (err) {
    bootLog.fatal({ err }, `${service} failed to start`);
    process.exit(1);
  }
  const logger = app.get<Logger>(LOGGER);
  app.useLogger(new PinoNestLogger(logger.child({ component: 'nest' })));
  app.disable('x-powered-by');
  app.use(createHttpLogger(logger));
  installBodyParsers(app, app.get<PlatformOptions>(PLATFORM_OPTIONS).rawBodyRoutes ?? []);

  await httpAppSetup(app)?.(app);
  armShutdownDeadline(logger.child({ component: 'shutdown' }), config.shutdownTimeoutMs);
  app.enableShutdownHooks([...SHUTDOWN_SIGNALS], { useProcessExit: true });

  // Idle keep-alive connections live 65 s instead of Node's 5 s. A client (a gateway's http-log plugin, a load
  // balancer, fetch) that reuses a pooled connection just as the server closes it gets "socket hang up" / "other side
  // closed": with 5 s that happened to our own e2e clients polling at a few seconds' pace on a loaded machine, and it is
  // what load balancers with a 60 s idle timeout (AWS ALB's default) run into. Headers must still arrive within 66 s.
  const server = app.getHttpServer() as { keepAliveTimeout: number; headersTimeout: number };
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;

  try {
    await app.listen(config.http.port, config.http.host);
  } catch (err) {
    logger.fatal({ err, port: config.http.port, host: config.http.host }, `${service} could not listen`);
    await app.close().catch(() => undefined);
    process.exit(1);
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `${config.tls ? 'https' : 'http'}://${displayHost(config.http.host)}:${port}`;
  logger.info({ component: 'boot', url, port }, `${service} listening on ${url}`);
  return { app, config, logger, url };
}

/** How long an idle keep-alive HTTP connection stays open (longer than the 60 s idle timeout of common load balancers). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** On the first shutdown signal, start the clock: a shutdown still running after `timeoutMs` exits 1. */
function armShutdownDeadline(log: Logger, timeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal, timeoutMs }, `shutdown: ${signal} received; new HTTP requests get 503`);
    setTimeout(() => {
      log.fatal({ timeoutMs }, 'shutdown: not finished within SHUTDOWN_TIMEOUT_MS, exiting');
      process.exit(1);
    }, timeoutMs).unref();
  };
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, onSignal);
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
}
