import { Controller, Get, HttpException, HttpStatus } from '@nestjs/common';
import { HealthService, type HealthReport } from './health.service.js';

@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Readiness: 200 when every dependency answers ok, 503 with the same body otherwise. */
  @Get()
  async readiness(): Promise<HealthReport> {
    const report = await this.health.check();
    if (report.status !== 'ok') throw new HttpException(report, HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }

  /** Liveness: 200 for as long as the process serves HTTP, whatever its dependencies say. */
  @Get('live')
  liveness(): { status: 'ok'; uptimeSeconds: number } {
    return { status: 'ok', uptimeSeconds: this.health.uptimeSeconds() };
  }
}
