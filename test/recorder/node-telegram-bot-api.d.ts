/** node-telegram-bot-api 0.x ships no types; the tests use its constructor and sendMessage only. */
declare module 'node-telegram-bot-api' {
  export default class TelegramBot {
    constructor(token: string, options?: { baseApiUrl?: string; polling?: boolean });
    sendMessage(chatId: string | number, text: string): Promise<unknown>;
  }
}
