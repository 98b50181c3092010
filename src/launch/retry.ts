/**
 * How vat asks AWS again. The SDK retries a throttled call a few times within one send; AWS documents throttling as
 * something callers must back off from and retry, and eventual consistency as answers that lack what a later one has.
 * Pure: no clocks, no I/O.
 */

/** The delay before attempt `attempt + 1`: doubling from firstMs up to capMs. */
export function backoffMs(attempt: number, firstMs = 500, capMs = 4000): number {
  return Math.min(capMs, firstMs * 2 ** Math.max(0, attempt));
}

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
]);

/** Whether an SDK error says "too many requests, slow down" (ECS ThrottlingException, EC2 RequestLimitExceeded). */
export function isThrottling(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $retryable?: { throttling?: boolean }; $metadata?: { httpStatusCode?: number } };
  return (
    THROTTLING.has(e?.name ?? "") || THROTTLING.has(e?.Code ?? "") || e?.$retryable?.throttling === true || e?.$metadata?.httpStatusCode === 429
  );
}

/** Whether EC2 says a network interface id is unknown: right after a task starts its ENI may not be visible yet. */
export function isEniNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string };
  return e?.name === "InvalidNetworkInterfaceID.NotFound" || e?.Code === "InvalidNetworkInterfaceID.NotFound";
}
