/**
 * Imported first by cli/main.ts, so that it runs before any other module's
 * top level: a command that may run long starts again without FTL
 * (lib/os/restart_without_ftl.ts) before anything else is done.
 * @module
 */

import process from "node:process";
import { restartWithoutFtlIfLong } from "../lib/os/restart_without_ftl.ts";

restartWithoutFtlIfLong(process.argv.slice(2));
