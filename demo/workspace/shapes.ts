// A small file to try completions in: put the cursor at the end of a line and type.
export interface Point {
    x: number;
    y: number;
}

export function distance(a: Point, b: Point): number {
    const dx = a.x - b.x;
    const dy = a.y - b.y;
    return Math.sqrt(dx * dx + dy * dy);
}

export function centroid(points: Point[]): Point {
    
}
