/**
 * Reports of what a model learned: the accuracy matrix, learning curves as PNG, and the learning report of a live
 * deployment built from its snapshots' metrics ({@code rehearsal report}).
 */
package io.rehearsal.cli.report;
