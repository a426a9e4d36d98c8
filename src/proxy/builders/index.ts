/** The tfjs builder of each task kind. */
import { TaskError } from '../../tasks/spec.ts';
import type { TaskKind } from '../../vocabulary/index.ts';
import type { TaskBuilder } from './common.ts';
import { buildCharLm } from './charlm.ts';
import { buildClassifier } from './classifier.ts';
import { buildConvnet } from './convnet.ts';
import { buildQuadratic } from './quadratic.ts';
import { buildTeacherStudent } from './teacher-student.ts';

export const TASK_BUILDERS: Record<TaskKind, TaskBuilder> = {
  quadratic: buildQuadratic,
  classifier: buildClassifier,
  convnet: buildConvnet,
  charlm: buildCharLm,
  'teacher-student': buildTeacherStudent,
};

export function getTaskBuilder(kind: TaskKind): TaskBuilder {
  const b = Object.hasOwn(TASK_BUILDERS, kind) ? TASK_BUILDERS[kind] : undefined;
  if (!b) throw new TaskError(`unknown task kind '${kind}'`);
  return b;
}
