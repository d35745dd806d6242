import { defineHpkeOracleSuite } from "./testing/hpke.suite";

defineHpkeOracleSuite();
