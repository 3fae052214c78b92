/**
 * Not API: Flower's content-addressed object format: messages deflated into objects with ids, and
 * inflated back.
 */
package dev.flowerjava.internal.objects;
