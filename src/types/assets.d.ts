// Files embedded into the compiled executable: importing them gives their path.
declare module "hls.js/dist/hls.min.js" {
  const path: string;
  export default path;
}
declare module "*.wasm" {
  const path: string;
  export default path;
}
