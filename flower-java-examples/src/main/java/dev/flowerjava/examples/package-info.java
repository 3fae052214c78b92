/** Example programs and what they share (command-line options). */
package dev.flowerjava.examples;
