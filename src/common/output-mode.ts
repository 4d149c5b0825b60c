/** Which rows of a result table each batch writes (Spark's output modes). */
export type OutputMode = 'append' | 'update' | 'complete';
