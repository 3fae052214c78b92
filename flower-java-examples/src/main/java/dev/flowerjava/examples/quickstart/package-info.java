/** The quickstart: a linear-regression NumPyClient with no dependency beyond the SDK. */
package dev.flowerjava.examples.quickstart;
