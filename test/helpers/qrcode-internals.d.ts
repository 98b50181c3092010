/** node-qrcode's Reed-Solomon encoder (CommonJS, untyped): the unit tests check vat's decoder against it. */
declare module "qrcode/lib/core/reed-solomon-encoder.js" {
  export default class ReedSolomonEncoder {
    constructor(degree: number);
    /** The error-correction codewords of the data. */
    encode(data: Uint8Array): Uint8Array;
  }
}
