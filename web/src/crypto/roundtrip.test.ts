import { defineRoundTripSuite } from "./testing/roundtrip.suite";

defineRoundTripSuite();
