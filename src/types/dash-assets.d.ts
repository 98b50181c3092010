// dash.js embedded into the compiled executable for the origin's player page: importing it gives its path. Imported by
// path: the package's exports map does not list its files.
declare module "*/dashjs/dist/modern/umd/dash.mediaplayer.min.js" {
  const path: string;
  export default path;
}
