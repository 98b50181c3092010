import { connect } from "node:net";

/**
 * Writes request bytes as they are (no client normalising paths or headers) and collects everything the server
 * answers until it closes the connection, or until timeoutMs (then whatever came, possibly nothing).
 */
export function exchange(port: number, bytes: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1", () => sock.write(bytes));
    const timer = setTimeout(() => sock.destroy(), timeoutMs);
    let data = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => (data += d));
    sock.on("error", () => {});
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

/** An answer's status (0 when there was none) and body. */
export function parseAnswer(data: string): { status: number; body: string } {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
  return { status: m ? Number(m[1]) : 0, body: data.slice(data.indexOf("\r\n\r\n") + 4) };
}
