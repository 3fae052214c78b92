/**
 * flower-java: a Java SDK and server for Flower's wire protocol; {@link
 * dev.flowerjava.FlowerException} is the root of its errors.
 */
package dev.flowerjava;
