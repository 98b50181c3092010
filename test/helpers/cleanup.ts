import { afterAll } from "bun:test";
import { killStragglers } from "./vat.ts";

// A test that fails before it stops what it started must not leave vat running after the suite.
afterAll(killStragglers);
