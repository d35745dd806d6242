// zod compiles fast validators with `new Function` unless told not to; our CSP forbids eval, and
// even its guarded probe shows up as a CSP violation report. Imported first by main.tsx and by
// the unlock worker (a worker is a separate world with its own zod).
import { z } from "zod";

z.config({ jitless: true });
