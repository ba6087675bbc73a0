import { type WebSocket } from 'ws';
import { ariTimestamp } from './time.js';
import { type EventSink } from './model.js';

/**
 * The Stasis applications and their event WebSockets. Like Asterisk, one socket serves an
 * application at a time: a new connection for the same name replaces the old one (which is
 * told with ApplicationReplaced). Events for an application without a socket are lost — ARI
 * does not replay them after a reconnect.
 */
export class EventsHub implements EventSink {
  private readonly sockets = new Map<string, WebSocket>();
  private readonly registered = new Set<string>();

  constructor(private readonly asteriskId: string) {}

  attach(socket: WebSocket, apps: string[]): void {
    for (const app of apps) {
      const previous = this.sockets.get(app);
      if (previous && previous !== socket) {
        this.write(previous, {
          type: 'ApplicationReplaced',
          timestamp: ariTimestamp(),
          application: app,
          asterisk_id: this.asteriskId,
        });
      }
      this.sockets.set(app, socket);
      this.registered.add(app);
    }
    socket.on('close', () => {
      for (const app of apps) if (this.sockets.get(app) === socket) this.sockets.delete(app);
    });
  }

  send(app: string, message: Record<string, unknown>): void {
    const socket = this.sockets.get(app);
    if (socket) this.write(socket, message);
  }

  isActive(app: string): boolean {
    return this.sockets.has(app);
  }

  knownApps(): string[] {
    return [...this.registered];
  }

  /** Kill event connections abruptly (as a network failure would); returns how many. */
  drop(app?: string): number {
    const victims = new Set([...this.sockets].filter(([name]) => app === undefined || name === app).map(([, s]) => s));
    for (const [name, socket] of this.sockets) if (victims.has(socket)) this.sockets.delete(name);
    for (const socket of victims) socket.terminate();
    return victims.size;
  }

  closeAll(): void {
    for (const socket of new Set(this.sockets.values())) socket.terminate();
    this.sockets.clear();
  }

  private write(socket: WebSocket, message: Record<string, unknown>) {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  }
}
