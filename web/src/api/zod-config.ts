// zod compiles fast validators with `new Function` unless told not to; our CSP forbids eval, and
// even its guarded probe shows up as a CSP violation report. Imported first by main.tsx.
import { z } from "zod";

z.config({ jitless: true });
