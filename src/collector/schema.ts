/**
 * The report formats the collector accepts, each checked against the very schema file the hub checks
 * its own reports with before they leave (schemas/ at the repository root).
 */
import { ReportValidator } from '../uplink/report.js';

export interface ReportSchemas {
  valid(doc: unknown): boolean;
}

export function reportSchemas(): ReportSchemas {
  const v1 = new ReportValidator();
  return {
    valid: (doc) => v1.problem(doc) === undefined,
  };
}
