import { defineVectorSuite } from "./testing/vectors.suite";

defineVectorSuite();
