import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ProviderPrice } from "./providers.ts";
import { redactUrl } from "./providers.ts";
import type { ProviderRow } from "./ranking.ts";

/**
 * What `vat compare` adds to the measurement database: one row per provider playback of a comparison (its name, what
 * may be shown of its URLs, its prices and how it went), and the removal of secrets from the runs' stored text.
 * The runs themselves are the client store's; this table only refers to them.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS compare_providers (
  comparison_id TEXT NOT NULL,
  role TEXT NOT NULL,
  name TEXT NOT NULL,
  playback_redacted TEXT NOT NULL,
  ingest_redacted TEXT NOT NULL,
  prices_json TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  run_id INTEGER,
  bitrate_kbps REAL,
  cost_per_hour_usd REAL,
  PRIMARY KEY (comparison_id, role)
);`;

export interface ProviderRecord {
  row: ProviderRow;
  ingest: string;
  price: ProviderPrice;
}

export class CompareStore {
  private readonly db: Database;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { create: true });
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec(SCHEMA);
  }

  writeProviders(comparisonId: string, records: readonly ProviderRecord[]): void {
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO compare_providers (comparison_id, role, name, playback_redacted, ingest_redacted, prices_json,
         status, reason, run_id, bitrate_kbps, cost_per_hour_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const { row, ingest, price } of records) {
        insert.run(comparisonId, row.role, row.provider, row.playback, ingest, JSON.stringify(price), row.status, row.reason,
          row.runId, row.bitrateKbps, row.costPerHourUsd);
      }
    })();
  }

  /**
   * A run's bitrate over its windows' time (what a per-GB price is charged on): each window's weighed by its length (a
   * run's last window is often short), one without media (no bitrate: between segments longer than it, an outage)
   * as none; null when no window had media.
   */
  meanBitrateKbps(runId: number): number | null {
    if (!this.hasTable("windows")) return null;
    const r = this.db
      .query(
        `SELECT CASE WHEN COUNT(bitrate_kbps) > 0 THEN SUM(COALESCE(bitrate_kbps, 0) * (end_ms - start_ms)) / SUM(end_ms - start_ms) END AS kbps
         FROM windows WHERE run_id = ? AND end_ms > start_ms`,
      )
      .get(runId) as
      | { kbps: number | null }
      | null;
    return r?.kbps ?? null;
  }

  /**
   * Secrets out of what the client stored for a comparison's runs: its URLs redacted, and every secret URL replaced by
   * its shown form in the options and events that may quote it.
   */
  scrubRuns(comparisonId: string, providerRunIds: readonly number[], replacements: readonly [string, string][]): void {
    if (!this.hasTable("runs")) return;
    const ids = (this.db.query("SELECT id FROM runs WHERE comparison_id = ?").all(comparisonId) as { id: number }[]).map((r) => r.id);
    if (ids.length === 0) return;
    const inIds = `(${ids.join(",")})`;
    this.db.transaction(() => {
      for (const [secret, shown] of replacements) {
        this.db.prepare(
          `UPDATE runs SET url = REPLACE(url, ?1, ?2), playlist_url = REPLACE(playlist_url, ?1, ?2),
             options_json = REPLACE(options_json, ?1, ?2), summary_json = REPLACE(summary_json, ?1, ?2) WHERE id IN ${inIds}`,
        ).run(secret, shown);
        this.db.prepare(`UPDATE events SET detail = REPLACE(detail, ?1, ?2) WHERE run_id IN ${inIds}`).run(secret, shown);
      }
      // A variant playlist the client followed to carries its own query (a token, a signature): redacted by rule.
      const setUrls = this.db.prepare("UPDATE runs SET url = ?, playlist_url = ? WHERE id = ?");
      const runs = this.db.query(`SELECT id, url, playlist_url FROM runs WHERE id IN ${inIds}`).all() as {
        id: number; url: string; playlist_url: string | null;
      }[];
      for (const r of runs) {
        if (!providerRunIds.includes(r.id)) continue;
        setUrls.run(redactUrl(r.url, "playback"), r.playlist_url === null ? null : redactUrl(r.playlist_url, "playback"), r.id);
      }
    })();
    // Rows the client rewrote while measuring leave their old text in free space: only a rebuilt file is rid of it.
    if (replacements.length > 0 || providerRunIds.length > 0) {
      this.db.exec("VACUUM");
      this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
  }

  private hasTable(name: string): boolean {
    return this.db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== null;
  }

  close(): void {
    this.db.close();
  }
}
