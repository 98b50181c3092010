// node-qrcode's own tables (error correction blocks and codewords per version and level), read by
// src/signal/qr-data.ts so that its symbols are node-qrcode's to the module.
declare module "qrcode/lib/core/error-correction-level.js" {
  export interface EcLevel {
    readonly bit: number;
  }
  export const L: EcLevel;
  export const M: EcLevel;
  export const Q: EcLevel;
  export const H: EcLevel;
}
declare module "qrcode/lib/core/error-correction-code.js" {
  import type { EcLevel } from "qrcode/lib/core/error-correction-level.js";
  export function getBlocksCount(version: number, level: EcLevel): number;
  export function getTotalCodewordsCount(version: number, level: EcLevel): number;
}
