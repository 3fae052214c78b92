/**
 * The CIFAR-10 example: the quickstart CNN on DJL, its data, client, server and the centralized
 * baseline.
 */
package dev.flowerjava.examples.cifar;
